-- The nonces of accepted signed requests (medledger_api.signed_request), per caller, until they expire.
CREATE TABLE request_nonces (
    caller_fingerprint text NOT NULL,
    nonce text NOT NULL,
    expires_ms bigint NOT NULL,
    PRIMARY KEY (caller_fingerprint, nonce)
);
CREATE INDEX request_nonces_expiry ON request_nonces (expires_ms);
