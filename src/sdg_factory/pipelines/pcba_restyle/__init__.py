"""pcba_restyle: the documents' augment-image-edit step (ROI crops → destination lighting style)."""
