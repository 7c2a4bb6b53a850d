"""Recovery plans at run time: the runbook engine, its journal, and the providers it drives."""
