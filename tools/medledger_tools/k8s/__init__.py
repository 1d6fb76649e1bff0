"""A single-node upstream Kubernetes cluster on this machine, for the Helm charts (medledger-k8s)."""
