package syncer

import "github.com/oktasync/oktasync/seal"

// KeySize is the size of the key that seals stored Okta API tokens (AES-256).
const KeySize = seal.KeySize

// ErrNoKey reports that no secret key is configured, so tokens cannot be stored or read.
var ErrNoKey = seal.ErrNoKey

// Seal encrypts an API token under key (see package seal), bound to its tenant so
// that a sealed token copied to another tenant's row does not open.
func Seal(key []byte, tenantID, token string) ([]byte, error) { return seal.Seal(key, tenantID, token) }

// Open decrypts a token sealed by Seal.
func Open(key []byte, tenantID string, sealed []byte) (string, error) {
	return seal.Open(key, tenantID, sealed)
}
