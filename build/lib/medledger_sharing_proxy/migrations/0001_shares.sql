-- Shares: what the patient sent (the capsule, the wrapped data key and the key fragment, none of which opens
-- anything without the receiver's secret key), the index record the proxy checked, and how far delivery got.
CREATE TABLE shares (
    share_id uuid PRIMARY KEY,
    patient text NOT NULL,
    patient_msp_id text NOT NULL,
    receiver text NOT NULL,
    receiver_msp_id text NOT NULL,
    treatment text NOT NULL,
    state text NOT NULL CHECK (state IN ('pending', 'recorded', 'delivered', 'revoked')),
    created_at timestamptz NOT NULL DEFAULT now(),
    capsule bytea NOT NULL,
    wrapped_key bytea NOT NULL,
    kfrag bytea NOT NULL,
    record jsonb NOT NULL,
    keys jsonb NOT NULL,
    cfrag bytea,
    usage_transaction_id text,
    CHECK ((state IN ('recorded', 'delivered')) = (usage_transaction_id IS NOT NULL))
);
CREATE INDEX shares_patient ON shares (patient, patient_msp_id);
CREATE INDEX shares_receiver ON shares (receiver, receiver_msp_id);
