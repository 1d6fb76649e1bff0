-- The objects the storage service keeps in S3 (key objects/<sha384>), each listed here only once its content
-- was checked against its address: an object without a row is never served.
CREATE TABLE objects (
    sha384 text PRIMARY KEY,
    owner text NOT NULL,
    owner_msp_id text NOT NULL,
    size bigint NOT NULL,
    stored_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX objects_owner ON objects (owner, owner_msp_id);

-- Who else may read an object: a share's receiver, granted by the sharing proxy.
CREATE TABLE grants (
    sha384 text NOT NULL REFERENCES objects (sha384),
    receiver text NOT NULL,
    receiver_msp_id text NOT NULL,
    granted_by text NOT NULL,
    granted_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (sha384, receiver, receiver_msp_id)
);

-- Every read, before its first byte is sent. Rows are never changed or removed.
CREATE TABLE reads (
    id bigserial PRIMARY KEY,
    sha384 text NOT NULL REFERENCES objects (sha384),
    reader text NOT NULL,
    reader_msp_id text NOT NULL,
    read_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX reads_object ON reads (sha384, read_at);
CREATE FUNCTION reads_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the reads audit trail is append-only';
END;
$$;
CREATE TRIGGER reads_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON reads
    FOR EACH STATEMENT EXECUTE FUNCTION reads_append_only();
