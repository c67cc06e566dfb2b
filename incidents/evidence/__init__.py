"""Photo evidence: checked images (``images``), kept content-addressed (``store``), recorded per step (``records``)."""
