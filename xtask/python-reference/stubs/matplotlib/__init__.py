# empty stand-in (plotting unused for Ackley-20)
