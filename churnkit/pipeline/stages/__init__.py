"""One function per stage: inputs and settings in, an output folder with a manifest out.

validate → segments → backtest → fit → score → sample → code → matrix → report. The command
line (one command per stage) and ``churnkit run`` call these functions and nothing else, so
both give the same outputs for the same inputs. Each writes into a folder that is swapped in
atomically and returns what it computed; nothing here prints.
"""

from churnkit.pipeline.stages._code import code_stage
from churnkit.pipeline.stages._matrix import matrix_stage
from churnkit.pipeline.stages._models import backtest_stage, fit_stage, score_stage
from churnkit.pipeline.stages._report import report_stage
from churnkit.pipeline.stages._sample import sample_stage
from churnkit.pipeline.stages._segments import segment_stage
from churnkit.pipeline.stages._validate import validate_stage

__all__ = [
    "backtest_stage",
    "code_stage",
    "fit_stage",
    "matrix_stage",
    "report_stage",
    "sample_stage",
    "score_stage",
    "segment_stage",
    "validate_stage",
]
