"""Small public time-series data sets shipped with sklrnn.

The UCR/UEA archive files keep their official train/test splits; see
``sklrnn/datasets/data/README.md`` for sources and licences.
"""

from ._base import (
    load_airline,
    load_basic_motions,
    load_covid3month,
    load_gunpoint,
    load_italy_power_demand,
    load_japanese_vowels,
    load_ts_file,
)

__all__ = [
    "load_airline",
    "load_basic_motions",
    "load_covid3month",
    "load_gunpoint",
    "load_italy_power_demand",
    "load_japanese_vowels",
    "load_ts_file",
]
