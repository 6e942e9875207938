"""A tiny inventory service: the file the README's demo edits."""
from __future__ import annotations

import json
from dataclasses import dataclass, field


@dataclass
class Item:
    sku: str
    name: str
    price_cents: int
    quantity: int = 0
    tags: list[str] = field(default_factory=list)

    def total_cents(self) -> int:
        return self.price_cents * self.quantity


class Inventory:
    def __init__(self) -> None:
        self.items: dict[str, Item] = {}

    def add(self, item: Item) -> None:
        if item.sku in self.items:
            raise KeyError(f"duplicate sku {item.sku}")
        self.items[item.sku] = item

    def remove(self, sku: str) -> Item:
        return self.items.pop(sku)

    def restock(self, sku: str, amount: int) -> None:
        self.items[sku].quantity += amount

    def value_cents(self) -> int:
        return sum(item.total_cents() for item in self.items.values())

    def by_tag(self, tag: str) -> list[Item]:
        return [item for item in self.items.values() if tag in item.tags]

    def to_json(self) -> str:
        return json.dumps(
            [item.__dict__ for item in self.items.values()],
            indent=2,
            sort_keys=True,
        )


def load(path: str) -> Inventory:
    inventory = Inventory()
    with open(path, encoding="utf-8") as f:
        for row in json.load(f):
            inventory.add(Item(**row))
    return inventory


if __name__ == "__main__":
    import sys

    print(load(sys.argv[1]).value_cents())
