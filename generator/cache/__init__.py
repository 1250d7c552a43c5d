"""Stage 5, what is kept between builds: the result store, each case's cached steps, rendered figures."""
