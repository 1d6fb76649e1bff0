-- Threshold sharing: the patient's grant a share is one key fragment of (the same grant ID at each proxy of
-- the grant). NULL for a share whose one key fragment opens the record alone.
ALTER TABLE shares ADD COLUMN grant_id uuid;
