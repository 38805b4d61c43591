package syncer

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
)

// KeySize is the size of the key that seals stored Okta API tokens (AES-256).
const KeySize = 32

// ErrNoKey reports that no secret key is configured, so tokens cannot be stored or read.
var ErrNoKey = errors.New("no secret key: set OKTASYNC_SECRET_KEY to the base64 of 32 random bytes (e.g. openssl rand -base64 32) to store Okta API tokens encrypted")

// Seal encrypts an API token with AES-256-GCM under key. The tenant id is bound as
// additional data, so a sealed token copied to another tenant's row does not open.
func Seal(key []byte, tenantID, token string) ([]byte, error) {
	aead, err := newAEAD(key)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("seal token: %w", err)
	}
	return aead.Seal(nonce, nonce, []byte(token), []byte(tenantID)), nil
}

// Open decrypts a token sealed by Seal.
func Open(key []byte, tenantID string, sealed []byte) (string, error) {
	aead, err := newAEAD(key)
	if err != nil {
		return "", err
	}
	if len(sealed) < aead.NonceSize()+aead.Overhead() {
		return "", errors.New("stored token is too short to be sealed")
	}
	n := aead.NonceSize()
	plain, err := aead.Open(nil, sealed[:n], sealed[n:], []byte(tenantID))
	if err != nil {
		return "", errors.New("stored token does not open with this secret key (was OKTASYNC_SECRET_KEY changed?)")
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
