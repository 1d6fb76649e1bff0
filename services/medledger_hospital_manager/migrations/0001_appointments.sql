-- Appointments this hospital's manager issued: the TID, both parties' pseudonyms and the TSK sealed to the
-- doctor (HPKE); the disease information exists here only inside that box.
CREATE TABLE appointments (
    tid text PRIMARY KEY,
    patient text NOT NULL,
    doctor text NOT NULL,
    sealed_tsk bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX appointments_patient ON appointments (patient, created_at);
CREATE INDEX appointments_doctor ON appointments (doctor, created_at);
