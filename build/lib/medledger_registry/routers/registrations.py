"""Registration (the paper's phase ①): a manager asks, the SA approves, the registry makes the pseudonym and
registers it with the person's organisation's CAs, and the manager collects the enrolment secret once."""

from __future__ import annotations

import datetime
import secrets
import uuid

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from fastapi import APIRouter, HTTPException, status

from medledger_api.registry import Registration, RegistrationRequest, RegistrationState, RegistrationSummary
from medledger_client.enrolment import EnrolmentError
from medledger_service_base.app import refusals

from ..dependencies import Approver, CARegistrars, Keys, Manager, Settings, Store
from ..pseudonyms import PseudonymError, decrypt_rid, encrypt_rid, lookup_hash, make_pseudonym
from ..store import AlreadyRegistered, Approval, NotFound, StoredRequest

router = APIRouter(prefix="/registrations", tags=["registrations"])
REFUSALS = refusals(403, 404, 409, 502)


@router.post("", status_code=status.HTTP_202_ACCEPTED, response_model=Registration, responses=REFUSALS)
def request_registration(
    body: RegistrationRequest, caller: Manager, settings: Settings, store: Store, keys: Keys
) -> Registration:
    """A manager asks to register one of its organisation's people; the SA approves it later."""
    if body.organisation != caller.msp_id:
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"a manager of {caller.msp_id} registers only its own people")
    registrar = settings.registrars.get(body.organisation)
    if registrar is None or body.role not in registrar.roles:
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"{body.organisation} may not register a {body.role.value}")
    _public_key(body.public_key)
    request_id = uuid.uuid4()
    try:
        lookup = lookup_hash(keys, body.rid)
        encrypted = encrypt_rid(keys, body.rid, str(request_id))
    except PseudonymError as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(error)) from None
    stored = StoredRequest(
        request_id=request_id,
        state=RegistrationState.PENDING,
        role=body.role,
        organisation=body.organisation,
        requester=_requester(caller.msp_id, caller.enrolment_id),
        requested_at=datetime.datetime.now(datetime.UTC),
        public_key=body.public_key,
        rid_encrypted=encrypted,
        pid=None,
        sealed_rid=None,
        enrolment_secret=None,
    )
    try:
        store.add(stored, lookup)
    except AlreadyRegistered:
        raise HTTPException(status.HTTP_409_CONFLICT, "this person is already registered or being registered") from None
    return stored.registration(with_secret=False)


@router.get("", response_model=list[RegistrationSummary], responses=REFUSALS)
def pending_registrations(caller: Approver, store: Store) -> list[RegistrationSummary]:
    """The requests waiting for the SA, oldest first (never a RID)."""
    return store.pending()


@router.post("/{request_id}/approval", response_model=Registration, responses=REFUSALS)
def approve_registration(
    request_id: uuid.UUID, caller: Approver, store: Store, keys: Keys, registrars: CARegistrars
) -> Registration:
    """The SA approves: the pseudonym is made and registered at the person's organisation's CAs."""

    def decide(stored: StoredRequest) -> Approval:
        if stored.state is not RegistrationState.PENDING:
            raise HTTPException(status.HTTP_409_CONFLICT, "this registration is already approved")
        rid = decrypt_rid(keys, stored.rid_encrypted, str(stored.request_id))
        pseudonym = make_pseudonym(rid, _public_key(stored.public_key))
        secret = secrets.token_urlsafe(24)
        try:
            registrars.register(stored.organisation, pseudonym.pid, stored.role, secret)
        except EnrolmentError as error:
            raise HTTPException(status.HTTP_502_BAD_GATEWAY, f"the CA refused the registration: {error}") from None
        return Approval(
            pid=pseudonym.pid,
            sealed_rid=pseudonym.sealed_rid,
            rid_encrypted=encrypt_rid(keys, rid, pseudonym.pid),
            enrolment_secret=secret,
            approved_by=_requester(caller.msp_id, caller.enrolment_id),
        )

    try:
        return store.approve(request_id, decide).registration(with_secret=False)
    except NotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such registration") from None


@router.get("/{request_id}", response_model=Registration, responses=REFUSALS)
def registration(request_id: uuid.UUID, caller: Manager, store: Store) -> Registration:
    """The requester's view; once approved it carries the enrolment secret, the first time only."""
    try:
        return store.deliver(request_id, _requester(caller.msp_id, caller.enrolment_id))
    except NotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such registration of yours") from None


def _requester(msp_id: str, enrolment_id: str) -> str:
    return f"{msp_id}/{enrolment_id}"


def _public_key(pem: str) -> ec.EllipticCurvePublicKey:
    try:
        key = load_pem_public_key(pem.encode())
    except ValueError:
        key = None
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "public_key: not a PEM P-256 public key")
    return key
