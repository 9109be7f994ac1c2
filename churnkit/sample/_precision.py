"""How precise the retention matrix of a planned design will be: the floor figures are judged by.

A figure resting on fewer than :data:`LOW_N` interviews, or on an effective sample size under
:data:`MIN_N_EFF` (the NCHS floor for proportions, Parker et al. 2017), is flagged ``low_n``
by the retention matrix.
"""

from __future__ import annotations

__all__ = ["LOW_N", "MIN_N_EFF"]

# a figure resting on fewer interviews, or on a smaller effective n, is flagged (low_n)
LOW_N = 10
MIN_N_EFF = 30
