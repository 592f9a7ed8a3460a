"""Running the class: sections as stacks, the Automation API driver, teardown at expiry."""
