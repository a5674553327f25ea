"""The fleet model: typed, immutable cells (the variables of `cells/*.yaml`) and the fleet they make."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from ipaddress import IPv4Network
from typing import Annotated

from pydantic import AfterValidator, Field, ValidationInfo, field_validator

from model.contract import Delivery
from model.urls import HttpsUrl
from model.validation import Strict

SEMVER = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$")
API_VERSION = re.compile(r"^v(0|[1-9]\d*)$")
CELL_ID = re.compile(r"^[a-z][a-z0-9-]{1,46}[a-z0-9]$")
# AWS maintenance window syntax, as RDS and ElastiCache take it: ddd:hh24:mi-ddd:hh24:mi
MAINTENANCE_WINDOW = re.compile(
    r"^(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):[0-5]\d-(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):[0-5]\d$"
)
CHANNEL = re.compile(r"^(slack|mailto|https|sns|pagerduty):\S+$")
ACCOUNT = re.compile(r"^\d{12}$")
CUSTOMER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$")  # as the router table and flag files name customers


class Tier(StrEnum):
    CANARY = "canary"
    SMB = "smb"
    ENTERPRISE = "enterprise"


class Product(StrEnum):
    SMS = "sms"
    VOICE = "voice"
    VIDEO = "video"
    WHATSAPP = "whatsapp"
    EMAIL = "email"


class Engine(StrEnum):
    AURORA_POSTGRESQL = "aurora-postgresql"
    AURORA_MYSQL = "aurora-mysql"


class SizeProfile(StrEnum):
    SMALL = "small"
    MEDIUM = "medium"
    LARGE = "large"
    XLARGE = "xlarge"


class Compliance(StrEnum):
    HIPAA = "hipaa"
    PCI = "pci"
    GDPR = "gdpr"
    SOC2 = "soc2"


# Commercial AWS regions (botocore's endpoint data; tests/model checks this list against it).
AWS_REGIONS = frozenset({
    "af-south-1", "ap-east-1", "ap-east-2", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-south-1",
    "ap-south-2", "ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4", "ap-southeast-5",
    "ap-southeast-6", "ap-southeast-7", "ca-central-1", "ca-west-1", "eu-central-1", "eu-central-2", "eu-north-1",
    "eu-south-1", "eu-south-2", "eu-west-1", "eu-west-2", "eu-west-3", "il-central-1", "me-central-1", "me-south-1",
    "mx-central-1", "sa-east-1", "us-east-1", "us-east-2", "us-west-1", "us-west-2",
})


def api_version_key(version: str) -> int:
    """Sort key of an API version: `v2` before `v10`."""
    return int(version[1:])


def _semver(value: str) -> str:
    if not SEMVER.match(value):
        raise ValueError(f"{value!r} is not a semantic version like 2.5.0")
    return value


def _api_version(value: str) -> str:
    if not API_VERSION.match(value):
        raise ValueError(f"{value!r} is not an API version like v1")
    return value


def _region(value: str) -> str:
    if value not in AWS_REGIONS:
        raise ValueError(f"{value!r} is not an AWS region")
    return value


def _account(value: str) -> str:
    if not ACCOUNT.match(value):
        raise ValueError(f"{value!r} is not an AWS account id (12 digits, quoted)")
    return value


def _maintenance_window(value: str) -> str:
    if not MAINTENANCE_WINDOW.match(value):
        raise ValueError(f"{value!r} is not a maintenance window like sun:03:00-sun:05:00 (UTC)")
    return value


def _channel(value: str) -> str:
    if not CHANNEL.match(value):
        raise ValueError(f"{value!r} is not a channel like slack://releases (slack, mailto, https, sns, pagerduty)")
    return value


def _customer(value: str) -> str:
    if not CUSTOMER_ID.match(value):
        raise ValueError(f"{value[:40]!r} is not a customer id (letters, digits, . _ : @ -, at most 128)")
    return value


def _cell_id(value: str) -> str:
    if not CELL_ID.match(value):
        raise ValueError(f"{value!r} must be 3-48 lowercase letters, digits and dashes, starting with a letter")
    return value


# --- values AWS itself refuses (RDS, tagging, VPC), checked here so `fleet check` says so first ---

# RDS: Aurora PostgreSQL `16.4`; Aurora MySQL `8.0.mysql_aurora.3.08.0` or the short `3.08.0` (2.x: MySQL 5.7).
ENGINE_VERSIONS = {
    Engine.AURORA_POSTGRESQL: re.compile(r"^(1[1-9]|[2-9]\d)(\.\d{1,2})?$"),
    Engine.AURORA_MYSQL: re.compile(r"^((8\.0|5\.7)\.mysql_aurora\.)?[23]\.\d{2}\.\d{1,2}$"),
}
ENGINE_VERSION_EXAMPLES = {Engine.AURORA_POSTGRESQL: "16.4", Engine.AURORA_MYSQL: "3.08.0 or 8.0.mysql_aurora.3.08.0"}
# AWS tagging limits: 50 tags per resource, keys up to 128 characters, values up to 256, no `aws:` prefix.
# The cell module adds its own tags (RESERVED_TAGS, and one Kubernetes role tag on subnets).
AWS_MAX_TAGS = 50
RESERVED_TAGS = ("cell_id", "tier", "managed_by")
MAX_CELL_TAGS = AWS_MAX_TAGS - len(RESERVED_TAGS) - 1
TAG_KEY = re.compile(r"^[\w .:/=+\-@]{1,128}$")
AWS_MAX_TAG_VALUE = 256
TAG_VALUE = re.compile(r"^[\w .:/=+\-@]*$")
MIN_MAINTENANCE_MINUTES = 30  # RDS refuses shorter preferred maintenance windows
MAX_MAINTENANCE_MINUTES = 24 * 60
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_WEEK_MINUTES = 7 * 24 * 60
PRIVATE_RANGES: tuple[IPv4Network, ...] = tuple(IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))


def _engine_version(value: str | None, info: ValidationInfo) -> str | None:
    engine = info.data.get("engine")
    if value is None or engine not in ENGINE_VERSIONS:
        return value
    if not ENGINE_VERSIONS[engine].match(value):
        raise ValueError(f"{value!r} is not an {engine.value} version (like {ENGINE_VERSION_EXAMPLES[engine]})")
    return value


def _tag_key(value: str) -> str:
    if value.lower().startswith("aws:"):
        raise ValueError(f"tag key {value!r}: the aws: prefix is reserved by AWS")
    if value in RESERVED_TAGS:
        raise ValueError(f"tag key {value!r} is set by the cell module ({', '.join(RESERVED_TAGS)})")
    if not TAG_KEY.match(value):
        raise ValueError(f"tag key {value[:40]!r}: 1-128 letters, digits, spaces and _ . : / = + - @")
    return value


def _tag_value(value: str) -> str:
    if len(value) > AWS_MAX_TAG_VALUE:
        raise ValueError(f"tag value of {len(value)} characters; AWS allows at most {AWS_MAX_TAG_VALUE}")
    if not TAG_VALUE.match(value):
        raise ValueError(f"tag value {value[:40]!r}: only letters, digits, spaces and _ . : / = + - @")
    return value


def _window_minutes(value: str) -> int:
    """Length of a `ddd:hh:mi-ddd:hh:mi` window in minutes (it may wrap around the week)."""
    def minute_of_week(part: str) -> int:
        day, hour, minute = part.split(":")
        return _DAYS.index(day) * 24 * 60 + int(hour) * 60 + int(minute)

    start, end = value.split("-")
    return (minute_of_week(end) - minute_of_week(start)) % _WEEK_MINUTES


def _window_length(value: str) -> str:
    minutes = _window_minutes(value)
    if not MIN_MAINTENANCE_MINUTES <= minutes <= MAX_MAINTENANCE_MINUTES:
        raise ValueError(f"{value!r} lasts {minutes} minutes; RDS needs 30 minutes to 24 hours")
    return value


TagKey = Annotated[str, AfterValidator(_tag_key)]
TagValue = Annotated[str, AfterValidator(_tag_value)]

SemVer = Annotated[str, AfterValidator(_semver)]
ApiVersion = Annotated[str, AfterValidator(_api_version)]
Region = Annotated[str, AfterValidator(_region)]
CellId = Annotated[str, AfterValidator(_cell_id)]
Account = Annotated[str, AfterValidator(_account)]
MaintenanceWindow = Annotated[str, AfterValidator(_maintenance_window), AfterValidator(_window_length)]
Channel = Annotated[str, AfterValidator(_channel)]
CustomerId = Annotated[str, AfterValidator(_customer)]


# Exposure of a cell (issue 10): an image digest pins what a release runs; the EKS API is
# private unless the cell file names the public networks that may reach it.
IMAGE_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


def _image_digest(value: str) -> str:
    if not IMAGE_DIGEST.match(value):
        raise ValueError(f"{value!r} is not an image digest like sha256:<64 hex digits>")
    return value


def _public_cidr(value: IPv4Network) -> IPv4Network:
    if value.prefixlen < 8 or not value.is_global:
        raise ValueError(f"{value} is not a public network no wider than /8 (the API allow-list)")
    return value


ImageDigest = Annotated[str, AfterValidator(_image_digest)]
PublicCidr = Annotated[IPv4Network, AfterValidator(_public_cidr)]


class ServiceRelease(Strict):
    """What one product service runs in a cell: a release serving some API versions."""

    release: SemVer
    api_versions: tuple[ApiVersion, ...]
    image_digest: ImageDigest | None = None  # a new release drops it (`Cell.with_release`)

    @field_validator("api_versions")
    @classmethod
    def _unique(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("at least one API version")
        if len(set(value)) != len(value):
            raise ValueError("API versions must be unique")
        return tuple(sorted(value, key=api_version_key))


# An image pinned by digest, tag kept for people: registry/repository:tag@sha256:<64 hex>.
IMAGE_REFERENCE = re.compile(
    r"^[a-z0-9]+(?:[._-][a-z0-9]+)*(?::[1-9][0-9]{0,4})?(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)+"
    r":[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}@sha256:[0-9a-f]{64}$"
)


def _pinned_image(value: str) -> str:
    if not IMAGE_REFERENCE.match(value):
        raise ValueError(f"{value!r} is not an image pinned by digest like registry/name:tag@sha256:<64 hex digits>")
    return value


PinnedImage = Annotated[str, AfterValidator(_pinned_image)]


class FlagSync(Strict):
    """How a cell's flagd sidecar gets the fleet's flag file (fleet-wide, under `all:`)."""

    source: HttpsUrl  # where the control plane publishes build/flags/flags.json
    flagd_image: PinnedImage


class Database(Strict):
    engine: Engine
    engine_version: str | None = None

    @field_validator("engine_version")
    @classmethod
    def _version_of_engine(cls, value: str | None, info: ValidationInfo) -> str | None:
        return _engine_version(value, info)


class Cell(Strict):
    """One cell's variables after tier defaults are applied."""

    id: CellId
    tier: Tier
    account: Account
    region: Region
    vpc_cidr: IPv4Network
    availability_zones: int = Field(ge=2, le=6)
    compliance: tuple[Compliance, ...] = ()
    size: SizeProfile
    database: Database
    services: dict[Product, ServiceRelease]
    maintenance_window: MaintenanceWindow | None = None
    notification_channel: Channel | None = None
    tags: dict[TagKey, TagValue] = Field(default_factory=dict)
    public_vpc_cidr: bool = False  # allow a VPC CIDR outside the private ranges (RFC 1918)
    public_access_cidrs: tuple[PublicCidr, ...] = ()  # the EKS API's public allow-list; empty: private
    delivery: Delivery = Delivery.PULUMI  # fleet-wide: set under `all:` in cells/_defaults.yaml
    flags: FlagSync | None = None  # set under `all:` (a cell may name a mirror); None: no flagd sidecar
    # Lifecycle: the customers the router places here (as the file knows them), and whether the cell is
    # being retired (out of rollouts, flags and the status page; its stack destroyed by decommission.yml).
    customers: tuple[CustomerId, ...] = ()
    decommission: bool = False

    @field_validator("vpc_cidr")
    @classmethod
    def _cidr_size(cls, value: IPv4Network) -> IPv4Network:
        if not 16 <= value.prefixlen <= 20:
            raise ValueError("VPC CIDR must be between /16 and /20")
        return value

    @field_validator("tags")
    @classmethod
    def _tag_count(cls, value: dict[str, str]) -> dict[str, str]:
        if len(value) > MAX_CELL_TAGS:
            raise ValueError(f"{len(value)} tags; at most {MAX_CELL_TAGS} (AWS allows {AWS_MAX_TAGS} per resource, "
                             f"the cell module adds {AWS_MAX_TAGS - MAX_CELL_TAGS})")
        return value

    @field_validator("customers")
    @classmethod
    def _unique_customers(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(value)) != len(value):
            raise ValueError("customers must be unique")
        return value

    @property
    def private_cidr(self) -> bool:
        """Whether the VPC CIDR lies in the private ranges (RFC 1918)."""
        return any(self.vpc_cidr.subnet_of(r) for r in PRIVATE_RANGES)

    @property
    def hipaa(self) -> bool:
        return Compliance.HIPAA in self.compliance

    @property
    def is_enterprise(self) -> bool:
        return self.tier is Tier.ENTERPRISE

    def with_release(self, release: str) -> Cell:
        """This cell with every service at `release` (what a rollout deploys); API versions unchanged."""
        services = {p: ServiceRelease(release=release, api_versions=s.api_versions) for p, s in self.services.items()}
        return self.model_copy(update={"services": services})

    def serves(self, product: Product, api_version: str) -> bool:
        service = self.services.get(product)
        return service is not None and api_version in service.api_versions


@dataclass(frozen=True)
class Fleet:
    """Every cell of a fleet, sorted by id, with the file each came from (as shown in errors)."""

    cells: tuple[Cell, ...]
    sources: Mapping[str, str] = field(default_factory=dict)
    decommissioning: tuple[Cell, ...] = ()  # `decommission: true`: still in the backend, in nothing new
    _index: Mapping[str, Cell] = field(init=False, repr=False, compare=False)
    _ids: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {c.id: c for c in self.cells})
        object.__setattr__(self, "_ids", tuple(c.id for c in self.cells))

    def cell(self, cell_id: str) -> Cell:
        return self._index[cell_id]

    def __contains__(self, cell_id: object) -> bool:
        return cell_id in self._index

    @property
    def ids(self) -> tuple[str, ...]:
        """Every cell id in fleet order (built once: `cid in fleet.ids` in a loop costs no rebuild)."""
        return self._ids

    def retiring(self, cell_id: str) -> Cell | None:
        """The decommissioning cell `cell_id`, or None."""
        return next((c for c in self.decommissioning if c.id == cell_id), None)

    @property
    def declared_ids(self) -> tuple[str, ...]:
        """Every cell with a file: active and decommissioning (each has a stack)."""
        return tuple(sorted((*self.ids, *(c.id for c in self.decommissioning))))

    def by_tier(self, tier: Tier) -> tuple[Cell, ...]:
        return tuple(c for c in self.cells if c.tier is tier)
