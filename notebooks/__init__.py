"""The lab's notebooks (the .ipynb files), their generator and the SQL scripts uploaded beside them."""
