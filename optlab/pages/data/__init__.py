"""The Data & SGD page: mini-batch noise, K seeds, data losses."""
