package delivery

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"syscall"

	"github.com/oktasync/oktasync/errkind"
)

// Webhook URLs are checked against server-side request forgery: a receiver's URL must
// not lead the server to its own loopback, the cloud metadata service (link-local) or
// the private network it sits in. The check runs when an endpoint is created or
// changed, on the addresses the host resolves to, and again at each delivery on the
// address actually dialled, since DNS can change in between.

// blocked reports why ip may not be a receiver's address ("" when it may).
func blocked(ip netip.Addr) string {
	ip = ip.Unmap()
	switch {
	case ip.IsLoopback():
		return "loopback"
	case ip.IsUnspecified():
		return "unspecified"
	case ip.IsLinkLocalUnicast(), ip.IsLinkLocalMulticast():
		return "link-local"
	case ip.IsPrivate():
		return "private"
	case ip.IsMulticast(), ip.IsInterfaceLocalMulticast():
		return "multicast"
	case ip.Is4() && ip.As4()[0] == 0: // 0.0.0.0/8 reaches this host on Linux
		return "unspecified"
	}
	return ""
}

// CheckURL reports whether raw may be a webhook URL: http or https with a host, and,
// unless allowPrivate, a host that resolves only to public addresses.
func CheckURL(ctx context.Context, raw string, allowPrivate bool) error {
	const op = "delivery.CheckURL"
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return errkind.Errorf(op, errkind.Invalid, "url %q is not an absolute http or https URL", raw)
	}
	if allowPrivate {
		return nil
	}
	host := u.Hostname()
	var addrs []netip.Addr
	if ip, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{ip}
	} else {
		addrs, err = net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		if err != nil {
			return errkind.Errorf(op, errkind.Invalid, "url host %q does not resolve: %v", host, err)
		}
	}
	for _, ip := range addrs {
		if why := blocked(ip); why != "" {
			return errkind.Errorf(op, errkind.Invalid,
				"url host %q resolves to %s, a %s address; webhooks are refused such addresses (set OKTASYNC_WEBHOOK_ALLOW_PRIVATE=true to allow them)", host, ip, why)
		}
	}
	return nil
}

// guardedControl refuses, at dial time, a connection to an address CheckURL would refuse.
func guardedControl(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("webhook delivery: unexpected address %q", address)
	}
	if why := blocked(ap.Addr()); why != "" {
		return fmt.Errorf("webhook delivery refused: %s is a %s address (OKTASYNC_WEBHOOK_ALLOW_PRIVATE=true allows it)", ap.Addr(), why)
	}
	return nil
}
