from archsmith.cli import main

main()
