// Carrier for the shared precompiled header (see cmake/imagine_targets.cmake).
