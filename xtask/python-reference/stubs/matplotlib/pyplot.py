# empty stand-in
