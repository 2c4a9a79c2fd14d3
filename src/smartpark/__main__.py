from smartpark.cli import main

main()
