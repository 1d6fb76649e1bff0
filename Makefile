# MedLedger: `make up` brings the whole system up on the lab, `make test` runs every test.
# Real VMs: `make artifacts` then `uv run ansible-playbook -i inventories/paper playbooks/site.yml`.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

UV_VERSION := 0.13.9
RUN := uv run --frozen
PLAYBOOK := $(RUN) ansible-playbook
export ARTIFACTS_DIR ?= $(CURDIR)/artifacts
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg

.PHONY: help
help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

.PHONY: venv
venv: ## Install the pinned Python tools (uv.lock)
	@command -v uv >/dev/null || pip install --quiet "uv==$(UV_VERSION)"
	@uv sync --frozen --quiet

.PHONY: artifacts
artifacts: venv ## Build or fetch every pinned artifact into $(ARTIFACTS_DIR), with SHA256SUMS
	$(RUN) medledger-artifacts --out "$(ARTIFACTS_DIR)"

.PHONY: artifacts-lock
artifacts-lock: venv ## Re-resolve the Maven artifacts and rewrite maven.lock (after a version bump)
	$(RUN) medledger-artifacts --lock

.PHONY: lab-up lab-down lab-status
lab-up: venv ## Start the 7 lab hosts (containers at the inventory's addresses)
	$(RUN) medledger-lab up
lab-down: venv ## Remove the lab's containers, network, volumes and key
	$(RUN) medledger-lab down
lab-status: venv ## Show the lab's hosts
	$(RUN) medledger-lab status

.PHONY: deploy
deploy: venv ## Run playbooks/site.yml against the lab
	$(RUN) medledger-lab check
	$(PLAYBOOK) playbooks/site.yml

.PHONY: up
up: artifacts lab-up deploy ## Artifacts + lab + the whole deployment

.PHONY: down
down: lab-down ## Tear the lab down (leaves the build caches)

.PHONY: lint
lint: venv ## ruff, mypy, yamllint, ansible-lint (production profile)
	$(RUN) ruff check tools services plugins tests roles bench
	$(RUN) ruff format --check tools services plugins tests roles bench
	test -z "$$(gofmt -l chaincode)" || { gofmt -l chaincode; echo "gofmt: the files above need formatting"; exit 1; }
	cd chaincode && go vet ./...
	$(RUN) mypy
	$(RUN) yamllint --strict .
	$(RUN) ansible-lint --profile production playbooks roles

.PHONY: unit
unit: artifacts firmware-test ## Unit tests (Python, the chaincode's Go, the firmware's C) and playbook checks that need no lab
	$(RUN) pytest -m "not lab" tests
	cd chaincode && go test ./...

.PHONY: firmware-test
firmware-test: ## The collector firmware's protocol drivers: host tests under sanitizers, each parser fuzzed, a Cortex-M4 build
	$(MAKE) -C firmware test

.PHONY: infra
infra: venv ## testinfra against the running lab (make up first)
	$(RUN) medledger-lab check
	$(RUN) pytest -m lab --durations=15 tests --ignore=tests/infra/test_onboard_organisation.py \
		--ignore=tests/infra/test_renew_certificates.py --ignore=tests/infra/test_upgrade_fabric.py

# The same topology with the options that are off by default turned on: Raft ordering (inventories/raft:
# medledger_consensus: etcdraft) and threshold sharing (inventories/threshold-proxies: three sharing proxies).
RAFT_INVENTORY := inventories/paper,inventories/lab,inventories/raft,inventories/threshold-proxies
# The fresh Raft lab is deployed on the Fabric release before the default (inventories/fabric-2.5.0), and its
# first test upgrades it with playbooks/upgrade-fabric.yml and RAFT_INVENTORY: the other tests meet the
# upgraded network.
EARLIER_FABRIC_INVENTORY := $(RAFT_INVENTORY),inventories/fabric-2.5.0
# The fault tests (crash tolerance, a lost leader) run once on Raft, on the migrated network (infra-migrate).
# Renewing every certificate runs last: it changes every certificate of the lab.
# The ledger's tests run on Raft once, on the migrated network (infra-migrate): the upgrade and the renewal
# here commit records while they work.
RAFT_TESTS := tests/infra/test_upgrade_fabric.py tests/infra/test_common.py tests/infra/test_orderer.py tests/infra/test_peer.py \
	tests/infra/test_channels.py tests/infra/test_idempotence.py tests/infra/test_threshold_sharing.py \
	tests/infra/test_renew_certificates.py
# The Kafka lab migrated to Raft (playbooks/migrate-to-raft.yml), then Raft's ordering tests on it: the
# migration's outcome is a Raft network that survives orderer crashes and serves the ledger. Its channels'
# genesis blocks stay Kafka's (the fresh Raft lab checks genesis blocks against the inventory).
MIGRATED_INVENTORY := inventories/paper,inventories/lab,inventories/raft
# Onboarding a hospital organisation runs last: the lab keeps the new member, which the other suites do not expect.
MIGRATED_TESTS := tests/infra/test_migrate_to_raft.py tests/infra/test_ordering_faults.py tests/infra/test_ledger.py \
	tests/infra/test_onboard_organisation.py
# Run once, on the Kafka lab: what they prove does not depend on the consensus (a chaincode upgrade is the
# peers' lifecycle: 56 to 68 s, which each Raft stage spent again).
ONCE_ON_KAFKA := --deselect tests/infra/test_ledger.py::test_a_new_version_is_committed_as_the_next_sequence_and_keeps_the_data
RAFT_SKIPPED := --deselect tests/infra/test_idempotence.py::test_a_run_restores_what_was_edited_on_one_host_and_restarts_only_that_service \
	--deselect tests/infra/test_idempotence.py::test_a_host_laid_out_for_the_former_shared_fabric_user_is_refused_before_anything_changes

.PHONY: infra-migrate
infra-migrate: venv ## On the Kafka lab (after make infra): migrate it to Raft, then the Raft fault and ledger tests on it
	ANSIBLE_INVENTORY=$(MIGRATED_INVENTORY) $(RUN) medledger-lab check
	ANSIBLE_INVENTORY=$(MIGRATED_INVENTORY) $(RUN) pytest -m lab --durations=10 $(MIGRATED_TESTS) $(ONCE_ON_KAFKA)

.PHONY: infra-raft
infra-raft: venv ## On a fresh lab: deploy Fabric 2.5.0 with Raft ordering and three sharing proxies; upgrade it; the ordering tests again, threshold sharing
	$(RUN) medledger-lab down
	$(RUN) medledger-lab up
	ANSIBLE_INVENTORY=$(RAFT_INVENTORY) $(RUN) medledger-lab check
	ANSIBLE_INVENTORY=$(EARLIER_FABRIC_INVENTORY) $(PLAYBOOK) playbooks/site.yml
	ANSIBLE_INVENTORY=$(RAFT_INVENTORY) $(RUN) pytest -m lab --durations=15 $(RAFT_TESTS) $(RAFT_SKIPPED)

.PHONY: bench
bench: venv ## Reproduce the paper's evaluation: client operations, Kafka lab, then a fresh Raft lab; bench/results/REPORT.md
	$(RUN) python bench/client_ops.py
	$(MAKE) up
	$(RUN) medledger-lab check
	$(RUN) python bench/ledger.py
	$(RUN) python bench/cpu_profile.py
	$(RUN) python bench/services.py
	$(RUN) python bench/sharing.py
	$(RUN) python bench/batch_sizes.py
	$(RUN) medledger-lab down
	$(RUN) medledger-lab up
	ANSIBLE_INVENTORY=$(RAFT_INVENTORY) $(RUN) medledger-lab check
	ANSIBLE_INVENTORY=$(RAFT_INVENTORY) $(PLAYBOOK) playbooks/site.yml
	ANSIBLE_INVENTORY=$(RAFT_INVENTORY) $(RUN) python bench/ledger.py
	ANSIBLE_INVENTORY=$(RAFT_INVENTORY) $(RUN) python bench/sharing.py
	$(RUN) python bench/report.py

.PHONY: bench-services
bench-services: venv ## The data client's time per phase at 1 MB through the services, beside Table 5 (lab up)
	$(RUN) medledger-lab check
	$(RUN) python bench/services.py

.PHONY: bench-deploy
bench-deploy: venv ## Time the deployment: artifacts, a fresh lab, first and no-op site.yml (bench/results/deploy.json)
	$(RUN) python bench/deploy.py

# Each stage's wall time is recorded and printed at the end beside its budget (bench/stage-budgets.yml).
STAGE := $(RUN) medledger-stages run
SUBMAKE := $(MAKE) --no-print-directory

.PHONY: test
test: venv ## Everything: lint, unit tests, lab deployment, testinfra (Kafka, migrated to Raft, fresh Raft); stage times
	$(RUN) medledger-stages reset
	$(STAGE) lint -- $(SUBMAKE) lint
	$(STAGE) unit -- $(SUBMAKE) unit
	$(STAGE) up -- $(SUBMAKE) up
	$(STAGE) infra -- $(SUBMAKE) infra
	$(STAGE) infra-migrate -- $(SUBMAKE) infra-migrate
	$(STAGE) infra-raft -- $(SUBMAKE) infra-raft
	$(RUN) medledger-stages report
