"""The retention matrix: reasons × segments, re-weighted to the predicted churners.

In: final codes per interview, the interview sample (strata and weights), scores (money at
risk) and the codebook. Out: a ``RetentionMatrix`` with weighted shares and intervals, the
obvious-versus-fixable split and the low-hanging fruit ranked by money at risk.
"""
