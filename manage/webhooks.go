package manage

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"strings"
	"time"

	"github.com/oktasync/oktasync/appstore"
	"github.com/oktasync/oktasync/delivery"
	"github.com/oktasync/oktasync/errkind"
	"github.com/oktasync/oktasync/event"
	"github.com/oktasync/oktasync/resource"
	"github.com/oktasync/oktasync/seal"
	"github.com/oktasync/oktasync/webhook"
)

// RotationOverlap is how long the secret replaced by a rotation keeps signing
// deliveries, next to the new one, so that receivers can switch without losing any.
const RotationOverlap = 24 * time.Hour

// NewWebhook is an endpoint to create.
type NewWebhook struct {
	URL     string
	Tenants []string // empty: every tenant
	Types   []string // empty: every type
}

// WebhookChanges are the fields an update changes; nil fields stay as they are.
type WebhookChanges struct {
	URL     *string
	Tenants *[]string
	Types   *[]string
	Enabled *bool
}

func webhookResource(w appstore.WebhookEndpoint, secret string) resource.Webhook {
	r := resource.Webhook{ID: w.ID, URL: w.URL, Tenants: w.Tenants, Types: w.Types, Enabled: w.Enabled,
		Created: w.Created, Updated: w.Updated, Secret: secret}
	if r.Tenants == nil {
		r.Tenants = []string{}
	}
	if r.Types == nil {
		r.Types = []string{}
	}
	if len(w.OldSecretEnc) > 0 && time.Now().Before(w.OldSecretUntil) {
		t := w.OldSecretUntil
		r.PreviousSecretExpires = &t
	}
	return r
}

func deliveryResource(d appstore.WebhookDelivery) resource.Delivery {
	r := resource.Delivery{ID: d.ID, Webhook: d.EndpointID, Event: d.EventID, Seq: d.EventSeq, Type: d.EventType, Tenant: d.TenantID,
		Status: d.Status, Attempts: d.Attempts, LastResponseCode: d.LastCode, LastError: d.LastError, Created: d.Created}
	if d.Status == appstore.DeliveryPending {
		t := d.NextAttempt
		r.NextAttempt = &t
	}
	if !d.Delivered.IsZero() {
		t := d.Delivered
		r.Delivered = &t
	}
	return r
}

// checkWebhook validates what an endpoint may be: an http(s) URL that passes the
// request-forgery guard, existing tenants and known types.
func (m *Manager) checkWebhook(ctx context.Context, op, url string, tenants, types []string) ([]string, []string, error) {
	url = strings.TrimSpace(url)
	if err := delivery.CheckURL(ctx, url, m.opts.WebhookAllowPrivate); err != nil {
		return nil, nil, errkind.InvalidField(op, "url", "%s", errkind.Message(err))
	}
	cleanTenants := []string{}
	for _, t := range tenants {
		t = strings.TrimSpace(t)
		if t == "" {
			continue
		}
		if _, err := m.store.GetTenant(ctx, t); err != nil {
			if errkind.Of(err) == errkind.NotFound {
				return nil, nil, errkind.InvalidField(op, "tenants", "no tenant %q", t)
			}
			return nil, nil, err
		}
		cleanTenants = append(cleanTenants, t)
	}
	cleanTypes, err := eventTypes(op, types)
	if err != nil {
		return nil, nil, err
	}
	if cleanTypes == nil {
		cleanTypes = []string{}
	}
	return cleanTenants, cleanTypes, nil
}

// newSealedSecret makes a signing secret for endpoint id and seals it.
func (m *Manager) newSealedSecret(op, id string) (string, []byte, error) {
	if m.opts.Key == nil {
		return "", nil, m.keyNeeded(op, "a webhook's signing secret is stored encrypted")
	}
	secret, err := webhook.NewSecret()
	if err != nil {
		return "", nil, errkind.E(op, errkind.Permanent, "no randomness", err)
	}
	enc, err := seal.Seal(m.opts.Key, delivery.SecretOwner(id), secret)
	if err != nil {
		return "", nil, errkind.E(op, errkind.Permanent, "sealing the secret", err)
	}
	return secret, enc, nil
}

// CreateWebhook creates an endpoint; its signing secret is in the answer and nowhere
// else.
func (m *Manager) CreateWebhook(ctx context.Context, in NewWebhook) (resource.Webhook, error) {
	const op = "manage.CreateWebhook"
	if m.opts.Key == nil { // said first: no URL would do without it
		return resource.Webhook{}, m.keyNeeded(op, "a webhook's signing secret is stored encrypted")
	}
	tenants, types, err := m.checkWebhook(ctx, op, in.URL, in.Tenants, in.Types)
	if err != nil {
		return resource.Webhook{}, err
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	id := "wh_" + hex.EncodeToString(b)
	secret, enc, err := m.newSealedSecret(op, id)
	if err != nil {
		return resource.Webhook{}, err
	}
	w, err := m.store.CreateWebhook(ctx, appstore.WebhookEndpoint{ID: id, URL: strings.TrimSpace(in.URL), Tenants: tenants, Types: types, Enabled: true, SecretEnc: enc})
	if err != nil {
		return resource.Webhook{}, err
	}
	return webhookResource(w, secret), nil
}

// ListWebhooks returns every endpoint, oldest first.
func (m *Manager) ListWebhooks(ctx context.Context) ([]resource.Webhook, error) {
	list, err := m.store.ListWebhooks(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]resource.Webhook, 0, len(list))
	for _, w := range list {
		out = append(out, webhookResource(w, ""))
	}
	return out, nil
}

// GetWebhook returns one endpoint.
func (m *Manager) GetWebhook(ctx context.Context, id string) (resource.Webhook, error) {
	w, err := m.store.GetWebhook(ctx, id)
	if err != nil {
		return resource.Webhook{}, err
	}
	return webhookResource(w, ""), nil
}

// UpdateWebhook changes an endpoint's URL, tenants, types or enabled state.
func (m *Manager) UpdateWebhook(ctx context.Context, id string, c WebhookChanges) (resource.Webhook, error) {
	const op = "manage.UpdateWebhook"
	cur, err := m.store.GetWebhook(ctx, id)
	if err != nil {
		return resource.Webhook{}, err
	}
	url, tenants, types := cur.URL, cur.Tenants, cur.Types
	if c.URL != nil {
		url = *c.URL
	}
	if c.Tenants != nil {
		tenants = *c.Tenants
	}
	if c.Types != nil {
		types = *c.Types
	}
	tenants, types, err = m.checkWebhook(ctx, op, url, tenants, types)
	if err != nil {
		return resource.Webhook{}, err
	}
	w, err := m.store.UpdateWebhook(ctx, id, func(w *appstore.WebhookEndpoint) error {
		w.URL, w.Tenants, w.Types = strings.TrimSpace(url), tenants, types
		if c.Enabled != nil {
			w.Enabled = *c.Enabled
		}
		return nil
	})
	if err != nil {
		return resource.Webhook{}, err
	}
	return webhookResource(w, ""), nil
}

// DeleteWebhook removes an endpoint and its queued deliveries.
func (m *Manager) DeleteWebhook(ctx context.Context, id string) error {
	return m.store.DeleteWebhook(ctx, id)
}

// RotateWebhookSecret gives an endpoint a new signing secret, returned only here. The
// previous one keeps signing too, as a second signature, for RotationOverlap.
func (m *Manager) RotateWebhookSecret(ctx context.Context, id string) (resource.Webhook, error) {
	const op = "manage.RotateWebhookSecret"
	if _, err := m.store.GetWebhook(ctx, id); err != nil {
		return resource.Webhook{}, err
	}
	secret, enc, err := m.newSealedSecret(op, id)
	if err != nil {
		return resource.Webhook{}, err
	}
	w, err := m.store.UpdateWebhook(ctx, id, func(w *appstore.WebhookEndpoint) error {
		w.OldSecretEnc, w.OldSecretUntil, w.SecretEnc = w.SecretEnc, time.Now().Add(RotationOverlap), enc
		return nil
	})
	if err != nil {
		return resource.Webhook{}, err
	}
	return webhookResource(w, secret), nil
}

// TestWebhook queues a ping event to the endpoint (it is not in the feed) and
// returns its delivery.
func (m *Manager) TestWebhook(ctx context.Context, id string) (resource.Delivery, error) {
	const op = "manage.TestWebhook"
	if _, err := m.store.GetWebhook(ctx, id); err != nil {
		return resource.Delivery{}, err
	}
	a := appstore.ActorFrom(ctx)
	ea := event.Actor{Kind: a.Kind, ID: a.ID}
	data, _ := json.Marshal(map[string]string{"webhook": id})
	e := event.Event{ID: event.NewID(), Type: event.Ping, Time: time.Now().UTC(), Source: event.SourceOf(ea), Actor: ea,
		Data: data, Previous: json.RawMessage(`{}`)}
	body, err := json.Marshal(e)
	if err != nil {
		return resource.Delivery{}, errkind.E(op, errkind.Permanent, "encoding the ping", err)
	}
	d, err := m.store.EnqueueDelivery(ctx, appstore.WebhookDelivery{EndpointID: id, EventID: e.ID, EventType: e.Type, Payload: body})
	if err != nil {
		return resource.Delivery{}, err
	}
	return deliveryResource(d), nil
}

// ListDeliveries returns an endpoint's deliveries, newest first.
func (m *Manager) ListDeliveries(ctx context.Context, id string, limit int) ([]resource.Delivery, error) {
	const op = "manage.ListDeliveries"
	if limit < 0 || limit > MaxLimit {
		return nil, errkind.InvalidField(op, "limit", "limit must be between 1 and %d", MaxLimit)
	}
	list, err := m.store.ListDeliveries(ctx, id, pageSize(limit))
	if err != nil {
		return nil, err
	}
	out := make([]resource.Delivery, 0, len(list))
	for _, d := range list {
		out = append(out, deliveryResource(d))
	}
	return out, nil
}

// RetryDelivery sends a delivery again now, whatever its state (a failed one too).
func (m *Manager) RetryDelivery(ctx context.Context, id string, deliveryID int64) (resource.Delivery, error) {
	d, err := m.store.RetryDelivery(ctx, id, deliveryID)
	if err != nil {
		return resource.Delivery{}, err
	}
	return deliveryResource(d), nil
}
