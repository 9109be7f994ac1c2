"""The interview sample: who to call, in which order, and how fielding goes.

In: scores, the customers table (consent, contacts), optionally the orders for interviewer
context, and a ``SampleDesign``. Out: an ``InterviewSample`` (cases, reserves, strata with
weights, the frame report), its export folder (pseudonymous analysis file, contacts, key,
interview guides) and the fielding status read back from the filled tracker.
"""
