"""From interview answers to reason codes.

In: answers (text, language) and a codebook (``codebooks/default.yaml`` or yours). Out:
suggested codes with evidence, XLSX coding sheets for human coders and the codes read back
from them, agreement between coders (Krippendorff's α, Cohen's κ), reconciled final codes and
the saturation curve.
"""
