"""The fleet model: typed, immutable cells (the variables of `cells/*.yaml`) and the fleet they make."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from ipaddress import IPv4Network
from typing import Annotated

from pydantic import AfterValidator, Field, field_validator

from model.contract import Delivery
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


def _cell_id(value: str) -> str:
    if not CELL_ID.match(value):
        raise ValueError(f"{value!r} must be 3-48 lowercase letters, digits and dashes, starting with a letter")
    return value


SemVer = Annotated[str, AfterValidator(_semver)]
ApiVersion = Annotated[str, AfterValidator(_api_version)]
Region = Annotated[str, AfterValidator(_region)]
CellId = Annotated[str, AfterValidator(_cell_id)]
Account = Annotated[str, AfterValidator(_account)]
MaintenanceWindow = Annotated[str, AfterValidator(_maintenance_window)]
Channel = Annotated[str, AfterValidator(_channel)]


class ServiceRelease(Strict):
    """What one product service runs in a cell: a release serving some API versions."""

    release: SemVer
    api_versions: tuple[ApiVersion, ...] = Field(min_length=1)

    @field_validator("api_versions")
    @classmethod
    def _unique(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(value)) != len(value):
            raise ValueError("API versions must be unique")
        return tuple(sorted(value, key=api_version_key))


class Database(Strict):
    engine: Engine
    engine_version: str | None = None


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
    tags: dict[str, str] = Field(default_factory=dict)
    delivery: Delivery = Delivery.PULUMI  # fleet-wide: set under `all:` in cells/_defaults.yaml

    @field_validator("vpc_cidr")
    @classmethod
    def _cidr_size(cls, value: IPv4Network) -> IPv4Network:
        if not 16 <= value.prefixlen <= 20:
            raise ValueError("VPC CIDR must be between /16 and /20")
        return value

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
    _index: Mapping[str, Cell] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {c.id: c for c in self.cells})

    def cell(self, cell_id: str) -> Cell:
        return self._index[cell_id]

    def __contains__(self, cell_id: object) -> bool:
        return cell_id in self._index

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(c.id for c in self.cells)

    def by_tier(self, tier: Tier) -> tuple[Cell, ...]:
        return tuple(c for c in self.cells if c.tier is tier)
