// Package seal encrypts the secrets oktasync must read back (tenants' Okta API tokens,
// webhook signing secrets) under the server's secret key, OKTASYNC_SECRET_KEY, with
// AES-256-GCM. Each sealed value is bound to what it belongs to (its tenant, its
// webhook), so a value copied into another row does not open.
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
)

// KeySize is the size of the key (AES-256).
const KeySize = 32

// ErrNoKey reports that no secret key is configured, so secrets cannot be stored or read.
var ErrNoKey = errors.New("no secret key: set OKTASYNC_SECRET_KEY to the base64 of 32 random bytes (e.g. openssl rand -base64 32) to store secrets encrypted")

// Seal encrypts secret under key. owner is bound as additional data: Open must be
// given the same owner.
func Seal(key []byte, owner, secret string) ([]byte, error) {
	aead, err := newAEAD(key)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	return aead.Seal(nonce, nonce, []byte(secret), []byte(owner)), nil
}

// Open decrypts a secret sealed by Seal for owner.
func Open(key []byte, owner string, sealed []byte) (string, error) {
	aead, err := newAEAD(key)
	if err != nil {
		return "", err
	}
	if len(sealed) < aead.NonceSize()+aead.Overhead() {
		return "", errors.New("stored secret is too short to be sealed")
	}
	n := aead.NonceSize()
	plain, err := aead.Open(nil, sealed[:n], sealed[n:], []byte(owner))
	if err != nil {
		return "", errors.New("stored secret does not open with this secret key (was OKTASYNC_SECRET_KEY changed?)")
	}
	return string(plain), nil
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) == 0 {
		return nil, ErrNoKey
	}
	if len(key) != KeySize {
		return nil, fmt.Errorf("secret key is %d bytes, want %d", len(key), KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}
