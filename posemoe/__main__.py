from posemoe.cli import main

main()
