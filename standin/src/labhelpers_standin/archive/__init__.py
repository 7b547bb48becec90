"""The offline archive: its layout on disk, the all-or-nothing build, and one generator per dataset."""
