"""Masking of personal data in notices that other members can see."""

from __future__ import annotations

import re

__all__ = ["mask_id_number", "mask_name"]

# Han characters (CJK unified ideographs, extensions A to H, compatibility ideographs).
_HAN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")


def mask_name(name: str) -> str:
    """Keep the first character of the name and hide the rest: 张三 -> 张*, 王小明 -> 王**;
    a name written in words keeps the first character of each word: John Smith -> J*** S****.

    At least one character of every part is hidden, so a one-character name (张 -> 张*) or a
    Chinese name typed with a space (李 四 -> 李*) never shows in full.
    """
    words = name.split()
    if not words:
        return "*"
    if len(words) == 1 or _HAN.search(name):
        whole = "".join(words)
        return whole[0] + "*" * max(len(whole) - 1, 1)
    return " ".join(word[0] + "*" * max(len(word) - 1, 1) for word in words)


def mask_id_number(id_number: str) -> str:
    """Show only the first 3 and last 2 characters: 110105199001011234 -> 110*************34.

    At least half of the number stays hidden: a number shorter than 10 characters shows only its
    last 2 (E12345678 -> *******78), and one of 5 or fewer shows nothing.
    """
    id_number = id_number.strip()
    size = len(id_number)
    if size <= 5:
        return "*" * size
    if size < 10:
        return "*" * (size - 2) + id_number[-2:]
    return id_number[:3] + "*" * (size - 5) + id_number[-2:]
