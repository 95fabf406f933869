// `deno task build-generator`: not implemented yet. It says so and exits 2 rather than pretend to work.
console.error("synface: `deno task build-generator` is not implemented yet");
Deno.exit(2);
