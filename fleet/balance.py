"""Expected costs of cell programs and document renders, and a stable split of work by cost.

One cost model for both levels of `fleet diff`/`build`: the cells of a shard (CI runners) and the
cells of one worker process (cores). Costs are in registered resources: a cell program under the
mocks costs ~7 ms per resource it registers; rendering the fleet-wide documents (pipeline,
gateway, status page, GitOps tree) and loading every input for them costs about
`DOCUMENT_COST_PER_CELL` per cell of the tree, measured with `benchmarks.cell_profile` and
`benchmarks.diff_scale`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from model.cells import Tier

# Resources one cell of each tier registers (`fleet build` of the sample fleet).
TIER_COST: dict[str, int] = {Tier.CANARY.value: 76, Tier.SMB.value: 77, Tier.ENTERPRISE.value: 89}
UNKNOWN_COST = max(TIER_COST.values())  # a cell only at base: its tier is not read
# Rendering one revision's documents, per cell of its fleet, in the same unit (~35 ms per cell).
DOCUMENT_COST_PER_CELL = 5


def cell_costs(head_tiers: Mapping[str, str], base_cells: Sequence[str]) -> dict[str, int]:
    """Expected cost of diffing each cell: its tier's cost per revision the cell exists at."""
    cells = set(head_tiers) | set(base_cells)
    base = set(base_cells)
    return {c: TIER_COST.get(head_tiers.get(c, ""), UNKNOWN_COST) * ((c in head_tiers) + (c in base)) for c in cells}


def documents_cost(cells: int) -> int:
    """Expected cost of rendering one revision's documents for a fleet of `cells` cells."""
    return DOCUMENT_COST_PER_CELL * cells


def assign(costs: Mapping[str, int], count: int, preload: Sequence[int] = ()) -> list[list[str]]:
    """The cells of each of `count` parts (each sorted): greedy by cost, longest first onto the least loaded part.

    `preload[i]` is work part i already has (the documents). Ties are broken by cell id, then by the
    lowest part number, so the split depends only on the costs and every cell is in exactly one part.
    """
    loads = [*preload, *[0] * count][:count]
    parts: list[list[str]] = [[] for _ in range(count)]
    for cell in sorted(costs, key=lambda c: (-costs[c], c)):
        target = min(range(count), key=lambda i: (loads[i], i))
        loads[target] += costs[cell]
        parts[target].append(cell)
    return [sorted(cells) for cells in parts]
