from generator.cli import main

if __name__ == "__main__":  # figure-drawing processes import this module again; they must not build
    main()
