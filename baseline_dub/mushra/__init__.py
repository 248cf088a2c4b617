"""MUSHRA listening tests for webMUSHRA: the test's config and condition names (``webmushra``), the stimuli
built from a finished run (``stimuli``) and the analysis of webMUSHRA's ratings (``analysis``)."""
