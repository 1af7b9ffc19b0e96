"""Synthetic but realistic .flow specs of N business domains, for benchmarks.

Each domain is what an architect would write for one bounded context: shared
record types and an enum, an intake event with a typed payload, reply events,
commands with success and failure replies, a named retry policy, four services
(intake, stock, billing, fulfilment) whose handlers retry and are idempotent, a
notification service, and a saga with compensations, a pivot and outcomes.
Domain `i` also listens to domain `i - 1`'s completion event, so names resolve
across the whole file, not only inside one block.

Every generated spec passes `flowgen check` with zero errors and zero warnings
(the benchmark asserts it, and so does a unit test), so the benchmark measures
the happy path that editors and CI hit on every change.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

WORDS = tuple(
    "Orders Billing Catalog Shipping Returns Loyalty Pricing Accounts "
    "Claims Bookings Payouts Invoices Tickets Rentals Listings Refills".split()
)


def domain_name(index: int) -> str:
    """A PascalCase name unique per index: `Orders`, `Billing`, ..., `Orders2`, ..."""
    word = WORDS[index % len(WORDS)]
    round_ = index // len(WORDS)
    return word if round_ == 0 else f"{word}{round_ + 1}"


def _snake(name: str) -> str:
    out = "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")
    return out


def domain(index: int) -> str:
    """The declarations of one domain; `index - 1`'s completion event is consumed here."""
    d = domain_name(index)
    s = _snake(d)
    path = s.replace("_", "-")
    previous = f"{domain_name(index - 1)}Completed" if index > 0 else None
    follow = (
        f"""  on {previous} -> follow_{_snake(domain_name(index - 1))} {{
    use {s}_standard
    idempotent by request_id within 7d
  }}
"""
        if previous
        else ""
    )
    return f"""
// ---- {d} -------------------------------------------------------------

/// An amount of money in minor units (cents) for {d}.
type {d}Money {{
  amount: int (min 0)
  currency: string (min_length 3, max_length 3)
}}

/// One line of a {d} request.
type {d}Line {{
  sku: string (pattern "^[A-Z0-9-]+$")
  quantity: int (min 1, max 1000)
  unit_price: {d}Money
  note: string?
}}

type {d}Address {{
  street: string
  city: string
  postcode: string (max_length 16)
  country: string (min_length 2, max_length 2)
}}

enum {d}Priority {{
  low,
  normal,
  high,
}}

/// A customer asked {d} to do something.
event {d}Requested {{
  request_id: uuid
  customer_id: uuid
  lines: list<{d}Line>
  amount: {d}Money
  ship_to: {d}Address?
  priority: {d}Priority
  attributes: map<string, string>
  requested_at: timestamp
  key request_id
  ordered by customer_id
}}

event {d}Completed {{ request_id: uuid  completed_at: timestamp  key request_id }}
event {d}Cancelled {{ request_id: uuid  reason: string  key request_id }}
event {d}Reserved {{ request_id: uuid  reservation_id: uuid  key request_id }}
event {d}OutOfStock {{ request_id: uuid  missing: list<string>  key request_id }}
event {d}Released {{ request_id: uuid  key request_id }}
event {d}Charged {{ request_id: uuid  payment_id: uuid  amount: {d}Money  key request_id }}
event {d}ChargeFailed {{ request_id: uuid  reason: string  key request_id }}
event {d}Refunded {{ request_id: uuid  payment_id: uuid  key request_id }}
event {d}Fulfilled {{ request_id: uuid  tracking: string?  fulfilled_at: timestamp  key request_id }}

command {d}Reserve {{ request_id: uuid  lines: list<{d}Line>  key request_id }} -> {d}Reserved | {d}OutOfStock
command {d}Release {{ request_id: uuid  reservation_id: uuid?  key request_id }} -> {d}Released
command {d}Charge {{ request_id: uuid  amount: {d}Money  key request_id }} -> {d}Charged | {d}ChargeFailed
command {d}Refund {{ request_id: uuid  amount: {d}Money  key request_id }} -> {d}Refunded
command {d}Fulfil {{ request_id: uuid  ship_to: {d}Address?  key request_id }} -> {d}Fulfilled

/// Transient failures are retried with backoff; poison messages go to a DLQ.
policy {s}_standard {{
  retry 5 backoff exponential 200ms..30s jitter
  timeout 10s
  dlq
}}

/// Takes {d} requests from customers and announces their outcome.
service {d}Intake {{
  /// Submit a request.
  api POST /{path}/requests -> {d}Requested
  publishes {d}Requested, {d}Completed, {d}Cancelled
}}

service {d}Stock {{
  handles {d}Reserve {{ use {s}_standard  idempotent by request_id }}
  handles {d}Release {{ use {s}_standard  idempotent by request_id within 24h }}
}}

service {d}Payments {{
  handles {d}Charge {{
    retry 3 backoff fixed 1s
    timeout 20s
    idempotent by request_id
  }}
  handles {d}Refund {{ use {s}_standard  idempotent by request_id }}
}}

service {d}Fulfilment {{
  handles {d}Fulfil {{ use {s}_standard  idempotent by request_id }}
}}

/// Tells customers what happened to their {d} request.
service {d}Notifications {{
  on {d}Completed -> notify_completed {{
    use {s}_standard
    idempotent by request_id within 7d
  }}
  on {d}Cancelled -> notify_cancelled {{
    use {s}_standard
    idempotent by request_id within 7d
  }}
{follow}}}

/// Reserve, charge, then fulfil; undo the reservation and the charge on failure.
saga {d}Process {{
  trigger {d}Requested
  step reserve: {d}Stock.{d}Reserve compensate {d}Stock.{d}Release
  step charge: {d}Payments.{d}Charge compensate {d}Payments.{d}Refund
  pivot step fulfil: {d}Fulfilment.{d}Fulfil
  timeout 1h
  on completed emit {d}Completed {{
    completed_at = fulfil.fulfilled_at
  }}
  on compensated emit {d}Cancelled {{
    reason = failure.reason or failure.error
  }}
}}
"""


def spec(domains: int, name: str = "bench") -> str:
    """A whole spec of `domains` domains."""
    header = f"/// A synthetic landscape of {domains} business domains.\nflow {name} version 1.0.0\n"
    return header + "".join(domain(i) for i in range(domains))


LINES_PER_DOMAIN = spec(2).count("\n") - spec(1).count("\n")


def domains_for_lines(lines: int) -> int:
    """How many domains make a spec of about `lines` lines."""
    return max(1, round(lines / LINES_PER_DOMAIN))


def write_spec(folder: Path, domains: int, name: str = "bench") -> Path:
    """Write a spec of `domains` domains to `folder/<name>.flow` and return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.flow"
    path.write_text(spec(domains, name), encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write a synthetic .flow spec of N domains to stdout.")
    parser.add_argument("domains", type=int, help="number of domains")
    args = parser.parse_args(argv)
    sys.stdout.write(spec(args.domains))
    return 0


if __name__ == "__main__":
    sys.exit(main())
