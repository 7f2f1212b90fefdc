from lsfs.cli import main

main()
