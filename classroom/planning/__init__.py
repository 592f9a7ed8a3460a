"""Before class: the offline plan (the real program under mocks), costs and prices."""
