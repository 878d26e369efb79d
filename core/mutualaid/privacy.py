"""Masking of personal data in notices that other members can see."""

from __future__ import annotations

__all__ = ["mask_id_number", "mask_name"]


def mask_name(name: str) -> str:
    """Keep the first character of each word and hide the rest: 张三 -> 张*, 王小明 -> 王**,
    John Smith -> J*** S****."""
    name = name.strip()
    if not name:
        return "*"
    words = name.split()
    return " ".join(word[0] + "*" * (len(word) - 1) if len(word) > 1 else word for word in words) if len(words) > 1 else (
        name[0] + "*" * max(len(name) - 1, 1)
    )


def mask_id_number(id_number: str) -> str:
    """Show only the first 3 and last 2 characters: 110105199001011234 -> 110*************34."""
    id_number = id_number.strip()
    if len(id_number) <= 5:
        return "*" * len(id_number)
    return id_number[:3] + "*" * (len(id_number) - 5) + id_number[-2:]
