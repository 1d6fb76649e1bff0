"""Six operating-room instruments in software, speaking to the collector firmware's UARTs what the real ones
would: Datex-Ohmeda S/5, Philips IntelliVue, Draeger MEDIBUS, HL7 over MLLP, Masimo ASCII 1 and Nonin format 7,
each with its request side, all reading one seeded surgery trace (firmware/ is the other end)."""
