package mailer

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/mail"
	"net/smtp"
	"strings"
	"time"

	"github.com/oktasync/oktasync/appstore"
)

// errInvalidMessage marks a mail that can never be sent as it is (a bad address).
var errInvalidMessage = errors.New("invalid message")

// deliver sends one mail over a fresh SMTP connection.
func (m *Mailer) deliver(ctx context.Context, ml appstore.Mail) error {
	msg, err := m.compose(ml)
	if err != nil {
		return err
	}
	from, err := mail.ParseAddress(m.opts.From)
	if err != nil {
		return fmt.Errorf("%w: sender: %v", errInvalidMessage, err)
	}
	to, err := mail.ParseAddress(ml.To)
	if err != nil {
		return fmt.Errorf("%w: recipient: %v", errInvalidMessage, err)
	}
	ctx, cancel := context.WithTimeout(ctx, m.opts.Timeout)
	defer cancel()
	conn, err := m.dial(ctx)
	if err != nil {
		return err
	}
	// The SMTP client has no context: a deadline and a close on cancellation bound it.
	deadline, _ := ctx.Deadline()
	conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	c, err := smtp.NewClient(conn, m.cfg.host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("smtp greeting: %w", err)
	}
	defer c.Close()
	if !m.cfg.implicitTLS {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(m.tlsConfig()); err != nil {
				return fmt.Errorf("smtp STARTTLS: %w", err)
			}
		} else if m.cfg.requireSTARTTLS {
			return errors.New("smtp: the server does not offer STARTTLS, which the SMTP URL requires")
		}
	}
	if m.cfg.user != "" {
		// PlainAuth refuses to send the password over an unencrypted connection to
		// anything but localhost.
		if err := c.Auth(smtp.PlainAuth("", m.cfg.user, m.cfg.pass, m.cfg.host)); err != nil {
			return fmt.Errorf("smtp AUTH: %w", err)
		}
	}
	// The envelope takes bare addresses; the display names are in the headers.
	if err := c.Mail(from.Address); err != nil {
		return fmt.Errorf("smtp MAIL FROM: %w", err)
	}
	if err := c.Rcpt(to.Address); err != nil {
		return fmt.Errorf("smtp RCPT TO: %w", err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("smtp DATA: %w", err)
	}
	if _, err := w.Write(msg); err != nil {
		return fmt.Errorf("smtp DATA: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("smtp DATA: %w", err)
	}
	// The message is accepted once DATA completes; a failed QUIT does not unsend it.
	_ = c.Quit()
	return nil
}

func (m *Mailer) dial(ctx context.Context) (net.Conn, error) {
	var d net.Dialer
	if m.cfg.implicitTLS {
		td := tls.Dialer{NetDialer: &d, Config: m.tlsConfig()}
		conn, err := td.DialContext(ctx, "tcp", m.cfg.addr())
		if err != nil {
			return nil, fmt.Errorf("smtp connect: %w", err)
		}
		return conn, nil
	}
	conn, err := d.DialContext(ctx, "tcp", m.cfg.addr())
	if err != nil {
		return nil, fmt.Errorf("smtp connect: %w", err)
	}
	return conn, nil
}

func (m *Mailer) tlsConfig() *tls.Config {
	var c *tls.Config
	if m.opts.TLSConfig != nil {
		c = m.opts.TLSConfig.Clone()
	} else {
		c = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if c.ServerName == "" {
		c.ServerName = m.cfg.host
	}
	return c
}

// compose renders the RFC 5322 message. Addresses are checked and the subject is
// MIME-encoded, so that nothing taken from the queue can inject headers.
func (m *Mailer) compose(ml appstore.Mail) ([]byte, error) {
	to, err := mail.ParseAddress(ml.To)
	if err != nil {
		return nil, fmt.Errorf("%w: recipient %q: %v", errInvalidMessage, ml.To, err)
	}
	from, err := mail.ParseAddress(m.opts.From)
	if err != nil {
		return nil, fmt.Errorf("%w: sender: %v", errInvalidMessage, err)
	}
	var id [12]byte
	rand.Read(id[:])
	var b strings.Builder
	header := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	header("From", from.String())
	header("To", to.String())
	header("Subject", mime.QEncoding.Encode("utf-8", strings.NewReplacer("\r", " ", "\n", " ").Replace(ml.Subject)))
	header("Date", m.clock.Now().Format(time.RFC1123Z))
	header("Message-ID", "<"+hex.EncodeToString(id[:])+"@"+domainOf(from.Address)+">")
	header("MIME-Version", "1.0")
	header("Content-Type", "text/plain; charset=utf-8")
	header("Content-Transfer-Encoding", "8bit")
	b.WriteString("\r\n")
	body := strings.ReplaceAll(strings.ReplaceAll(ml.Body, "\r\n", "\n"), "\r", "\n")
	b.WriteString(strings.ReplaceAll(body, "\n", "\r\n"))
	if !strings.HasSuffix(body, "\n") {
		b.WriteString("\r\n")
	}
	return []byte(b.String()), nil
}

func domainOf(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return addr[i+1:]
	}
	return "localhost"
}
