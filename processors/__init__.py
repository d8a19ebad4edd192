"""coffea processors of ccreco (thin shells: the work lives in :mod:`ccreco.reco`)."""
