"""The storage service (the paper's cloud storage server): encrypted records in S3, each read authorised and audited."""
