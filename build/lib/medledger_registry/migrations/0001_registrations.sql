-- Registration requests and, once approved, the pseudonyms they gave. The RID is never stored in clear:
-- rid_encrypted is AES-256-GCM under the registry's key, bound to the request (pending) or the PID
-- (approved); rid_lookup is its HMAC-SHA-384, unique, so one person registers once.
CREATE TABLE registrations (
    request_id uuid PRIMARY KEY,
    state text NOT NULL CHECK (state IN ('pending', 'approved')),
    role text NOT NULL,
    organisation text NOT NULL,
    requester text NOT NULL,
    requested_at timestamptz NOT NULL DEFAULT now(),
    public_key text NOT NULL,
    rid_lookup bytea NOT NULL UNIQUE,
    rid_encrypted bytea NOT NULL,
    pid text UNIQUE,
    sealed_rid bytea,
    enrolment_secret text,
    approved_by text,
    approved_at timestamptz,
    CHECK ((state = 'approved') = (pid IS NOT NULL))
);
CREATE INDEX registrations_pending ON registrations (requested_at) WHERE state = 'pending';

-- The certificate directory: each registered user's enrolment certificate and Umbral keys, as the user
-- published them (signed by its enrolment key).
CREATE TABLE directory (
    pid text PRIMARY KEY REFERENCES registrations (pid),
    certificate text NOT NULL,
    public_key text NOT NULL,
    verifying_key text NOT NULL,
    signature text NOT NULL,
    published_at timestamptz NOT NULL DEFAULT now()
);
