// `deno task generate`: not implemented yet. It says so and exits 2 rather than pretend to work.
console.error("synface: `deno task generate` is not implemented yet");
Deno.exit(2);
