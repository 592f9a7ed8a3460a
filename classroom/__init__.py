"""What an instructor runs beside ``pulumi``: ``python -m classroom <command>``.

Nothing here is imported by the program or its components; the tools read the
lab model (:mod:`lab`) and run the real program, under Pulumi's mock engine
(:mod:`classroom.planning.simulate`) for the offline plan.
"""
