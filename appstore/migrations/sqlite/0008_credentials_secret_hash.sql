-- Bearer tokens are looked up by the hash of the whole token.
CREATE INDEX credentials_secret_hash ON credentials (secret_hash) WHERE kind = 'bearer';
